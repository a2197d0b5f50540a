"""Lead scoring: score models of rules over the condition language, decay, caps, grades."""
