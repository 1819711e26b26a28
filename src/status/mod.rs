//! One status view built from the CIB, rendered as crm_mon-style text, JSON
//! and XML. Never reads anything but the CIB it is given.
