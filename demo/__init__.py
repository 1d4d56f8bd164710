"""Demo data: a simulated outdoor-gear company sent through the real collection paths.

``world`` streams people, ``journey`` (with ``online``, ``offline``, ``profile_files``)
tells each one's year as messages, ``sources`` creates the company's sources,
``send`` posts to /v1/batch, ``files`` imports the partner and data-provider files,
and ``load.load_demo_data`` runs it all (``manage.py demo_data``).
"""
