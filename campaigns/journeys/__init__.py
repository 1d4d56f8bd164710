"""Journey editing: the grammar of a campaign's ``steps`` (grammar.py), the editor's form
fields to and from them (editor.py) and its buttons (buttons.py: add, remove and move
steps and variants). Each step type's own part is in campaigns/step_types/."""
