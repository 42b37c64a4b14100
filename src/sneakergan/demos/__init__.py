"""The design's teaching figures (`sneakergan demo ...`): small, fast experiments that each save one
figure and return their finding as numbers."""
