print("ledger: under construction")
