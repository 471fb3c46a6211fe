"""gui/results"""
