"""The documented OpenCustodian CSV formats for importing readings."""
