# stdlib, no site directory here
