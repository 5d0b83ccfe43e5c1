// layer http (placeholder; remove when a real source lands)
