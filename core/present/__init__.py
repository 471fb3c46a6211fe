"""core/present"""
