"""gui/map"""
