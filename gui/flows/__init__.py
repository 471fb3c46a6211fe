"""gui/flows"""
