"""core/export"""
