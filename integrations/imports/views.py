"""HTML pages of the file import: upload, column mapping with preview, progress."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from cdp_site.access import requires
from cdp_site.permissions import Cap
from integrations import selectors as integration_selectors

from . import selectors, services
from .files import FileError
from .forms import MappingForm, ProductUploadForm, UploadForm
from .models import FileImport

TPL = "integrations/imports/"


def _htmx_redirect(request, url):
    if request.htmx:
        response = TemplateResponse(request, TPL + "empty.html", {})
        response["HX-Redirect"] = url
        return response
    return redirect(url)


@requires(Cap.VIEW_INTEGRATIONS, write=Cap.MANAGE_INTEGRATIONS)
@require_GET
def source_imports(request, pk: int):
    """The source page's "File imports" section (loaded by htmx), or a page of its own."""
    source = get_object_or_404(integration_selectors.sources(), pk=pk)
    context = {"source": source, "imports": selectors.imports_of(source=source)}
    template = TPL + ("source_imports.html#section" if request.htmx else "source_imports.html")
    return TemplateResponse(request, template, context)


@requires(Cap.VIEW_INTEGRATIONS, write=Cap.MANAGE_INTEGRATIONS)
def upload(request, pk: int):
    source = get_object_or_404(integration_selectors.sources(), pk=pk)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        uploaded = form.cleaned_data["file"]
        try:
            created = services.import_upload(source=source, uploaded=uploaded, user=request.user)
        except FileError as exc:
            form.add_error("file", str(exc))
        else:
            return redirect("integrations:import-mapping", pk=created.pk)
    return TemplateResponse(request, TPL + "upload.html", {"source": source, "form": form})


@requires(Cap.VIEW_INTEGRATIONS, write=Cap.MANAGE_INTEGRATIONS)
def mapping(request, pk: int):
    file_import = get_object_or_404(selectors.imports(), pk=pk)
    if file_import.status != FileImport.Status.UPLOADED:
        return redirect("integrations:import-detail", pk=file_import.pk)
    form = MappingForm(
        request.POST or None,
        columns=file_import.columns,
        initial_mapping=selectors.saved_mapping(source=file_import.source),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.start_import(file_import=file_import, mapping=form.cleaned_data["mapping"])
        except services.ImportStateError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "The import has started.")
        return _htmx_redirect(request, reverse("integrations:import-detail", args=[pk]))
    context = {
        "file_import": file_import,
        "source": file_import.source,
        "form": form,
        "preview": selectors.preview(file_import=file_import),
    }
    template = TPL + ("mapping.html#mapping-form" if request.htmx else "mapping.html")
    return TemplateResponse(request, template, context)


@requires(Cap.VIEW_INTEGRATIONS, write=Cap.MANAGE_INTEGRATIONS)
@require_GET
def detail(request, pk: int):
    file_import = get_object_or_404(selectors.imports(), pk=pk)
    context = {"file_import": file_import, "source": file_import.source}
    template = TPL + ("detail.html#progress" if request.htmx else "detail.html")
    return TemplateResponse(request, template, context)


@requires(Cap.VIEW_INTEGRATIONS, write=Cap.MANAGE_INTEGRATIONS)
def product_import(request):
    """Upload a product file into a source's catalogue; the latest product imports."""
    form = ProductUploadForm(
        request.POST or None, request.FILES or None, sources=integration_selectors.sources()
    )
    if request.method == "POST" and form.is_valid():
        try:
            created = services.import_products(
                source=form.cleaned_data["source"],
                chunks=form.cleaned_data["file"].chunks(),
                original_name=form.cleaned_data["file"].name,
                user=request.user,
            )
        except FileError as exc:
            form.add_error("file", str(exc))
        except services.MappingInvalid as exc:
            form.add_error("file", " ".join(exc.problems.values()))
        else:
            messages.success(request, "The import has started.")
            return redirect("integrations:import-detail", pk=created.pk)
    context = {"form": form, "imports": selectors.product_imports()}
    return TemplateResponse(request, TPL + "products.html", context)
