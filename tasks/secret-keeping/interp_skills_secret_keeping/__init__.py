"""Secret-keeping model organisms (taboo word, user gender) built locally from the embedded SmolLM2."""
