__version__ = '6.0'
