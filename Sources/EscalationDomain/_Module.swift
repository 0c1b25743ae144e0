// Module EscalationDomain.
