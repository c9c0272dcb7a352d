"""Using a model on your own DNA: the library behind ``predict.py``.

One module per subcommand (:mod:`inference.sequences`, :mod:`inference.regions`,
:mod:`inference.variants`, :mod:`inference.mutagenesis`, :mod:`inference.export`), all predicting
through ``evaluation.predict`` (batched, both strands in one call, strand-averaged, with a
progress bar) and writing through :mod:`inference.output` (HDF5 or TSV, atomically). Input files
are read by ``data`` (genome, FASTA, BED, VCF, window conventions).
"""
