// Module VigilIncidents: see ARCHITECTURE; filled in by its issue.
