from django.urls import path

from . import views
from .attribution import views as attribution_views
from .funnels import views as funnel_views
from .journey import views as journey_views
from .lifecycle import views as lifecycle_views
from .paths import views as paths_views
from .retention import views as retention_views
from .rfm import views as rfm_views

app_name = "insights"

urlpatterns = [
    path("", views.index, name="index"),
    path("journey/", journey_views.journey, name="journey"),
    path("journey/people/", journey_views.journey_people, name="journey-people"),
    path("retention/", retention_views.retention_grid, name="retention"),
    path("paths/", paths_views.paths_view, name="paths"),
    path("lifecycle/", lifecycle_views.lifecycle_view, name="lifecycle"),
    path("lifecycle/people/", lifecycle_views.lifecycle_people, name="lifecycle-people"),
    path("funnels/", funnel_views.funnels, name="funnels"),
    path("funnels/<int:pk>/", funnel_views.saved_funnel, name="funnel"),
    path("funnels/steps/", funnel_views.funnel_steps, name="funnel-steps"),
    path("funnels/<int:pk>/delete/", funnel_views.delete_funnel, name="funnel-delete"),
    path("funnels/drop-offs/", funnel_views.save_drop_offs, name="funnel-drop-offs"),
    path("attribution/", attribution_views.attribution_report, name="attribution"),
    path("attribution/people/", attribution_views.attribution_people, name="attribution-people"),
    path("rfm/", rfm_views.rfm, name="rfm"),
    path("rfm/people/", rfm_views.rfm_people, name="rfm-people"),
    path("rfm/recompute/", rfm_views.rfm_recompute, name="rfm-recompute"),
]
