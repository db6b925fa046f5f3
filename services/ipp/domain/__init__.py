"""The IPP service's model: jobs by IPP id, states, printer and job template attributes."""
