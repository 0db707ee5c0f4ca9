"""The API of hybridgateway.io: typed models per version (`v1alpha1/`) and the CRDs generated from them (`crd.py`).

The models are the only place where a field, its type, description, bounds, pattern, default and
exactly-one-of groups are written. `hack/gen_crds.py` renders the CRDs in crds/ from them, and the
reconcilers parse every object with the same models, so both see the same defaults.
"""
