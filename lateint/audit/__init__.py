"""A label-free audit of your own documents: is one vector per document losing their content?

``python -m lateint.audit DOCS --out report.html`` reads a folder of .txt / .md / .html / .pdf files
(or a BEIR folder), draws inverse-cloze probes from it (:mod:`~lateint.audit.probes`), scores every
long-document strategy of lesson 01b on them (:mod:`~lateint.audit.measure`), and writes one
self-contained HTML report with the verdict (:mod:`~lateint.audit.report`)::

    from lateint.audit import read_folder, run_audit, write_report
    docs = read_folder("my_docs/")
    audit = run_audit(encoder, docs, n_probes=300, corpus_size=100_000)
    write_report("report.html", audit, encoder)
"""

from .folder import Documents, read_folder
from .measure import Audit, run_audit, verdict, wilson
from .probes import Probe, make_probes, probe_dataset
from .report import render_report, write_report

__all__ = ["Documents", "read_folder", "Audit", "run_audit", "verdict", "wilson", "Probe", "make_probes",
           "probe_dataset", "render_report", "write_report"]
