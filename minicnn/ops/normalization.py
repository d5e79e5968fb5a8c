"""(placeholder: filled by the layers issue)"""
__all__ = []
