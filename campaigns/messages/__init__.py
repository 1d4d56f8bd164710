"""Message templates: their pages (views.py) and forms (forms.py); rendering them is
campaigns/templating.py."""
