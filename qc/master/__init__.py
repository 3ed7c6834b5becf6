"""Corrective mastering: a chain of small streaming stages planned from a check's findings.

``stage.py`` defines the one call shape every stage has; ``level.py`` (gain, true-peak limiter), ``repair.py``
(DC, clicks), ``eq.py`` (bounded corrective EQ), ``edit.py`` (trim and fades), ``convert.py`` (sample-rate
conversion, dither) implement them; ``chain.py`` plans and runs the chain and tags the output with
:mod:`qc.metadata`.
"""
