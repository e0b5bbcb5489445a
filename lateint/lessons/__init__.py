"""Each lesson's helpers: the code behind one notebook's experiments, tested like the core.

Which lesson owns which module (as d2l marks the chapter that owns each helper):

=======================================  ==============================================================
lesson                                   modules
=======================================  ==============================================================
00 setup, and every lesson after it      :mod:`~lateint.lessons.demo` (a small corpus with a planted
                                         "needle" fact); pooled and MaxSim search side by side is
                                         core: :mod:`lateint.side_by_side`
01 one vector dilutes                    :mod:`~lateint.lessons.needle` (the needle-in-a-haystack curve)
01b or chunks                           :mod:`~lateint.lessons.long_docs` (truncation fact, the length stress,
                                         every long-document strategy measured); core: :mod:`lateint.windows`,
                                         :mod:`lateint.chunking`
02 MaxSim by hand                        :mod:`~lateint.lessons.ablation` (normalisation, special tokens,
                                         skiplists)
03 ColBERT in practice                   :mod:`~lateint.lessons.colbertize` (ColBERT's mechanics on any
                                         encoder), :mod:`~lateint.lessons.hybrid` (score fusion); the
                                         trained model is core: :mod:`lateint.trained`
04 out of domain                         :mod:`~lateint.lessons.domain` (distance from the model's
                                         domain), :mod:`~lateint.lessons.perquery` (per-query wins and
                                         losses, paired intervals), :mod:`~lateint.lessons.hybrid`
04b does it generalise                   :mod:`~lateint.lessons.spectrum` (pooled, late and full
                                         interaction: costs, exact-match share of MaxSim)
05 cost and speed                        :mod:`~lateint.lessons.compress` (token merging and settings),
                                         :mod:`~lateint.lessons.codecs` (PCA, int8, residual codes),
                                         :mod:`~lateint.lessons.cost` (bytes and time against quality)
06 where retrieval still breaks          :mod:`~lateint.lessons.failures` (probes; their texts in
                                         :mod:`~lateint.lessons.probe_texts`), :mod:`~lateint.lessons.gap`
                                         (the gap to perfect retrieval)
06b multi-hop and agents                 :mod:`~lateint.lessons.failures` (the multi-hop probe),
                                         :mod:`~lateint.lessons.agent` (a small offline agent loop),
                                         :mod:`~lateint.lessons.agent_eval`
                                         (against budget-matched single searches, on the held-out
                                         questions of :mod:`~lateint.lessons.agent_questions`)
07 train your own                        core: :mod:`lateint.train` (both heads, one function);
                                         :mod:`~lateint.lessons.grid` (the training grid's whole-test-set
                                         table, read from ``benchmarks/``)
=======================================  ==============================================================

A lesson's plot that draws one helper's result lives beside that helper (e.g.
``cost.plot_footprint``); chart types several lessons share live in :mod:`lateint.display.plots`.
"""
