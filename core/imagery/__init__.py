"""core/imagery"""
