"""The visual segment builder: fields.py (form fields ⇄ rule, and the add/remove
actions), tree.py (the tree of nodes and their inputs the templates render, with the
grammar's errors next to them) and views.py (the builder's pages). Each condition type's
own fields are in segments/conditions/."""
