"""The foundation every layer builds on: configuration, the warehouse seam, errors, and the stores that
outlive a run (quarantine, human decisions). Nothing here imports a stage, the console or the application."""
