"""File imports: CSV or JSON-lines files turned into identify / track messages.

Modules: ``models`` (FileImport, ImportMapping), ``files`` (streaming readers),
``mapping`` (row → message), ``services`` (writes), ``selectors``, ``forms``, ``views``.
"""
