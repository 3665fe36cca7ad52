"""Deploy: the active plan in the CRM's territories, pools and assignments."""
