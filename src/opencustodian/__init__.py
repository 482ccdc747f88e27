"""OpenCustodian: an open-source Data Custodian platform for utilities.

Green Button Connect/Download My Data (NAESB REQ.21 ESPI), LF Energy CDS customer data,
energy data agreements and ECIS requests, all over one data model and one consent engine.
"""

__version__ = "0.1.0"
