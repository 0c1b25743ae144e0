// Module EventLog.
