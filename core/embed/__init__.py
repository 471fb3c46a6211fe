"""core/embed"""
