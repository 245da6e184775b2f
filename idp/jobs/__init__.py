"""Background work shared by the nodes: each job runs on one node at a time, under a lease in the database."""
