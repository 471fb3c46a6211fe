"""core/pack"""
