"""The access log (EES Art. 46, ETIAS Art. 69): every read and write over the API and the consoles, with
who, which authority, the purpose and the data touched; append-only and hash-chained so that any change,
deletion or reordering is detectable (`smartborders audit verify`). It holds ids and data categories,
never personal data such as names or document numbers.
"""
