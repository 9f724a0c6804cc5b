"""Surveys services, one module per concern: `templates` (questionnaires and their versions),
`campaigns` (creating and scheduling campaigns), `dispatch` (waves, invitations, reminders,
closing) and `responses` (answers from the public pages, opt-outs, follow-ups)."""
