"""Evaluation metrics on Inception features: FID, KID, PRD, improved precision/recall,
density/coverage, and a nearest-neighbour memorisation check.

Modules: features (the feature network and its preprocessing), fid, kid, prd, pr, memorization,
reference (cached reference statistics), protocol (where images come from), evaluate (all of it).
"""
