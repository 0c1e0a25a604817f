"""Business modules. Each subpackage is one bounded context; its __init__ is its manifest."""
