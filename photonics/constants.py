"""Physical constants and the project's default numbers.

Silicon waveguide defaults describe a 500 nm x 220 nm-class strip/rib guide at
1.55 um: neff 2.4 and ng 4.0 give a ring resonance shift of
lambda*(dn/dT)/ng = 70 pm/K, inside the 70-80 pm/K measured for silicon rings.
"""

import math

Q_E_C = 1.602176634e-19  # elementary charge
C_UM_PER_S = 299792458.0e6  # speed of light in um/s
REFERENCE_TEMPERATURE_K = 300.0  # neff and ng are given at this temperature

WL_UM = 1.55  # C band design wavelength
CLOCK_GHZ = 10.0  # Mirage clock

SI_NEFF = 2.4
SI_NG = 4.0
SI_LOSS_DB_CM = 2.0  # silicon strip waveguide propagation loss
SI_DN_DT_PER_K = 1.8e-4  # silicon thermo-optic coefficient

EO_VPIL_V_CM = 2.0  # thin-film lithium niobate class Pockels modulator
EO_NEFF = 1.85  # thin-film LN ridge, TE mode, 1.55 um
EO_NG = 2.3
EO_DN_DT_PER_K = 3.5e-5  # LN extraordinary index, near room temperature
# Coplanar electrodes of thin-film LN modulators (docs/physics/electrodes.md): 1-2 pF/cm, an RF index near
# the optical group index (velocity matching) and a skin-effect RF loss of order 0.5-1 dB/(cm*sqrt(GHz)).
EO_ELECTRODE_PF_PER_CM = 1.5
EO_RF_INDEX = 2.2
EO_RF_LOSS_DB_CM_RTGHZ = 0.7
DRIVER_IMPEDANCE_OHM = 50.0  # RF driver source impedance
BANDWIDTH_PER_BAUD = 0.7  # NRZ rule of thumb: an open eye needs a -3 dB bandwidth of about 0.7x the symbol rate
# A receiver's noise bandwidth over its -3 dB bandwidth, for a second-order Butterworth low-pass (a TIA front end
# designed flat, no peaking): (pi / 4) / sin(pi / 4) = 1.11 (an n-th order Butterworth's is (pi/2n) / sin(pi/2n);
# one pole's pi/2, a Gaussian's 1.06).
NOISE_PER_3DB_BANDWIDTH = (math.pi / 4) / math.sin(math.pi / 4)

# Directional couplers: the coupling angle grows about as wl**3 for a 50:50 silicon coupler
# (evanescent coupling strengthens with wavelength); MMIs scale as wl**1 (self-imaging).
DC_KAPPA_DISPERSION = 3.0

HEATER_P_PI_MW = 20.0  # silicon thermo-optic class

RING_LOSS_DB = 0.2  # reported for Mirage

PD_RESPONSIVITY_A_PER_W = 1.1  # reported for Mirage
# TIA input-referred noise current density (pA/sqrt(Hz)): 1.128 uA rms over the 10 GHz clock bandwidth, the earlier
# estimate for Mirage's TIA, as a density, so that the thermal noise follows the bandwidth as shot noise and RIN do.
# Typical of 10-25 Gb/s shunt-feedback TIAs (10-20 pA/sqrt(Hz); the specification and commercial parts: Saeckinger,
# Analysis and Design of Transimpedance Amplifiers for Optical Receivers, Wiley 2017, ch. 5); the lowest reported
# above 1 GHz is 2 pA/sqrt(Hz) at 2.5 GHz (Yang et al., IEEE Solid-State Circuits Lett. 8, 189 (2025)).
TIA_NOISE_PA_RTHZ = 11.28

LASER_WALL_PLUG_EFFICIENCY = 0.2  # reported for Mirage

# Drive (DAC and driver) output voltage noise density (nV/sqrt(Hz)), referred to the DAC's Nyquist band: a DAC's noise
# is drawn once per sample and held for the symbol, and white noise through a zero-order hold has a noise bandwidth of
# half the sample rate (the driver's own noise, over its wider band, is folded in). So the drive noise follows the
# clock, as the receiver's follows its bandwidth. An estimate, chosen: a high-speed DAC's output noise is about
# -162 dBm/Hz (Analog Devices AD9142, a 1.6 GS/s DAC, data sheet 2012), 1.8 nV/sqrt(Hz) into 50 ohm; a driver
# amplifying its ~1 V full scale to a 4 V swing makes that 0.5 mV over the 5 GHz band of the 10 GHz clock; 1 mV
# (14.1 nV/sqrt(Hz)) allows the driver three times that noise power of its own.
# ((1 mV)^2 = density^2 * band_ghz * 1e-3: nV^2/Hz * GHz.)
DRIVE_NOISE_NV_RTHZ = math.sqrt(1e3 / (CLOCK_GHZ / 2))
