"""One reconciler per custom resource: composes its parts and turns results into status."""
