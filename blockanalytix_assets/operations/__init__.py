"""Operations: repair backfills, retraining and failure alerts around the asset graph."""
