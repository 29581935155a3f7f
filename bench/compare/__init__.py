"""Side-by-side benchmark of trioserver and Synapse (``python -m bench compare``)."""
