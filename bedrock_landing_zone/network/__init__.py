"""The private network and its interface endpoints. Imports ``config``, ``compliance``, ``base``
and ``governance``."""
