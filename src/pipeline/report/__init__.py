"""The report: the key-figures table (`table`) and the municipality's report section (`html`)."""
