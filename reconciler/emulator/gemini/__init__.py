"""The Gemini API's tuned-model surface: tunedModels, their operations and
permissions, generateContent and generateText on tuned and base models, and the
base models, under `/{v1,v1beta,v1alpha,v1beta3}/`. Its tuned models are
records in the shared store (`records.py`); a run's progress is computed from
the clock (`tuning.py`). `surface.py` holds its services and route table."""
