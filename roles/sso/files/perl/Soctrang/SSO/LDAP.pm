package Soctrang::SSO::LDAP;

# The password module's LDAP connection, remembering slapd's last answer to the
# user: LemonLDAP::NG reads only the ppolicy control of a refused change and
# drops the diagnostic text, where ppm writes its reason
# (Lemonldap::NG::Portal::Lib::Net::LDAP::userModifyPassword, 2.21.2: the
# `$mesg` of set_password is local and the sub returns
# `[PE_PP_PASSWORD_EXPIRED, ...]->[$pp_error]`).
#
# Soctrang::SSO::Password re-blesses its connection into this class; nothing
# else changes: each override calls the original and returns its message.
#
# The record, in the shape soctrang_ppolicy.php hands to the reasons table
# (Soctrang::SSO::Reasons):
#   {stage => 'bind' | 'change', result => LDAP result code,
#    diagnostic => the server's text (bytes, as Net::LDAP has it; '' when none),
#    ppolicy => the response control's error name, or undef}

use strict;
use warnings;

use parent 'Lemonldap::NG::Portal::Lib::Net::LDAP';

# Net::LDAP::set_password is defined by this extension (sub Net::LDAP::set_password),
# which is what SUPER::set_password reaches; Lib/Net/LDAP.pm loads it too.
use Net::LDAP::Extension::SetPassword ();
use Soctrang::SSO::Reasons ();

our $VERSION = '1.0';

use constant PPOLICY_RESPONSE => '1.3.6.1.4.1.42.2.27.8.5.1';

# Lib/Net/LDAP.pm bind($dn, %args): without a DN it binds as managerDn (the
# rebind after a change, newLdap's test bind, Lib/LDAP.pm bind); with one it is
# the user's bind, the only one recorded.
sub bind {
    my ( $self, $dn, %args ) = @_;
    my $mesg = $self->SUPER::bind( $dn, %args );
    $self->_remember( bind => $mesg ) if defined $dn and length $dn;
    return $mesg;
}

# Called by userModifyPassword as set_password(user => $dn, oldpasswd => ...,
# newpasswd => ..., control => [$pp]); always the user's operation.
sub set_password {
    my $self = shift;
    my $mesg = $self->SUPER::set_password(@_);
    $self->_remember( change => $mesg );
    return $mesg;
}

# The record of the last answer to the user, or undef.
sub soctrang_last_answer {
    my ($self) = @_;
    return $self->{soctrang_last_answer};
}

sub soctrang_forget_answer {
    my ($self) = @_;
    delete $self->{soctrang_last_answer};
    return;
}

sub _remember {
    my ( $self, $stage, $mesg ) = @_;
    return unless ref $mesg;
    my ($response) = $mesg->control(PPOLICY_RESPONSE);
    my $error = $response ? $response->pp_error : undef;

    # server_error, not error: error() puts a description of the code in place
    # of a missing text, which PHP's LDAP_OPT_DIAGNOSTIC_MESSAGE does not.
    $self->{soctrang_last_answer} = {
        stage      => $stage,
        result     => $mesg->code,
        diagnostic => $mesg->server_error // '',
        ppolicy    => defined $error ? $Soctrang::SSO::Reasons::PPOLICY_ERRORS[$error] : undef,
    };
    return;
}

1;
