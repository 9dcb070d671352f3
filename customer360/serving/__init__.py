"""The published snapshot and everything that reads it: where snapshots live and how to open one
(`snapshots`), the search index and serving store built beside each snapshot (`search_index`,
`profile_store`), and explanations read from the published marts (`explain`).

The publish stage writes these files; the console, the JSON API, `c360 lookup` and BI tools only read them.
Nothing here imports a pipeline stage.
"""
