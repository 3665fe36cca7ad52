"""The Salesforce adapter of the CRM port (simple-salesforce over the REST API)."""

from revloops.adapters.salesforce.crm import SalesforceCRM

__all__ = ["SalesforceCRM"]
