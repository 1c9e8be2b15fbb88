-- Temporal's auto-setup creates its own databases; nothing else is needed for Oddsmith here.
SELECT 1;
