package Soctrang::SSO::Reasons;

# Why the directory refused a new password, in the person's words: the portal's
# reading of the reasons file the webmail reads too.
#
# A line-by-line port of class soctrang_password_reasons in
# roles/webmail/files/password/soctrang_ppolicy.php; the header of that file is
# the specification of the file format ("reasons", "patterns", "classes") and of
# the texts slapd 2.6 and ppm send. Both roles render the same JSON (the
# webmail to /etc/roundcube/soctrang-password-reasons.json, the portal to
# /etc/lemonldap-ng/soctrang/password-reasons.json); tests/data/password_refusals.json
# is the corpus both readings answer alike (roles/sso/files/perl/t/reasons.t).
#
# Where Perl cannot do what PHP does, the choice made:
#   - A long-running FastCGI worker would keep the first reading for ever; a
#     file is read again when its inode, size or modification time changes
#     (PHP reads it once per request).
#   - "match" is compiled as a Perl regular expression, case-insensitive, on
#     characters, with \d \w \s ASCII as in PCRE without UCP (PHP: ~iu);
#     slapd's text is decoded from UTF-8 first, and a text that is not UTF-8
#     matches nothing (preg_match fails on it).
#     A pattern read from the file cannot run code: (?{ }) needs `use re 'eval'`.
#   - JSON types are told apart as PHP's is_string/is_int do (a "result" of
#     "49" is not a number); a JSON object where a list is expected is taken
#     in the order of its keys (JSON::PP keeps no order).
#
# Pure Perl, core modules only (JSON::PP, Encode, B).

use strict;
use warnings;
use utf8;

use B ();
use Encode ();
use JSON::PP ();

our $VERSION = '1.0';

my @STAGES = qw(bind change);

# The ppolicy response control's error names, by value (draft-behera-ldap-password-policy,
# as soctrang_directory::PPOLICY_ERRORS has them).
our @PPOLICY_ERRORS = qw(
  passwordExpired accountLocked changeAfterReset passwordModNotAllowed
  mustSupplyOldPassword insufficientPasswordQuality passwordTooShort
  passwordTooYoung passwordInHistory passwordTooLong
);

my %loaded;    # path => {signature, table}

# The table in $path, or undef (and a problem reported) when it cannot be used.
#   Soctrang::SSO::Reasons->load($path, on_problem => sub { $logger->error($_[0]) })
# Without on_problem, problems go to warn (the FastCGI server's error log).
sub load {
    my ( $class, $path, %options ) = @_;
    $path //= '';
    my $on_problem = $options{on_problem} || sub { warn "$_[0]\n" };
    my $signature  = _signature($path);
    my $cached     = $loaded{$path};
    return $cached->{table} if $cached and $cached->{signature} eq $signature;

    my $table = $class->_read( $path, $on_problem );
    $loaded{$path} = { signature => $signature, table => $table };
    return $table;
}

# The same table from JSON text already in hand (tests; no cache).
sub from_json_text {
    my ( $class, $json, %options ) = @_;
    my $on_problem = $options{on_problem} || sub { warn "$_[0]\n" };
    return $class->_parse( $json, '(text)', $on_problem );
}

sub _signature {
    my ($path) = @_;
    my @st = $path eq '' ? () : stat $path;
    return @st ? join( ':', @st[ 0, 1, 7, 9 ] ) : 'missing';
}

sub _read {
    my ( $class, $path, $on_problem ) = @_;
    if ( $path eq '' ) {
        _problem( $on_problem, '', 'is not set' );
        return undef;
    }
    my $fh;
    unless ( open $fh, '<:raw', $path ) {
        _problem( $on_problem, $path, 'cannot be read' );
        return undef;
    }
    my $json = do { local $/; <$fh> };
    close $fh;
    unless ( defined $json ) {
        _problem( $on_problem, $path, 'cannot be read' );
        return undef;
    }
    return $class->_parse( $json, $path, $on_problem );
}

sub _parse {
    my ( $class, $json, $path, $on_problem ) = @_;

    # Bytes in, characters out (json_decode wants UTF-8 too).
    my $data = eval { JSON::PP->new->utf8->max_depth(16)->decode($json) };
    if ( my $error = $@ ) {
        $error =~ s/\s+at \S+ line \d+\.?\s*\z//;
        _problem( $on_problem, $path, "is not JSON: $error" );
        return undef;
    }

    my $texts = ref $data eq 'HASH' ? $data->{reasons} : undef;
    unless ( ref $texts eq 'HASH'
        and _is_string( $texts->{generic} )
        and _trim( $texts->{generic} ) ne '' )
    {
        _problem( $on_problem, $path, 'needs "reasons" with a "generic" text' );
        return undef;
    }
    my %texts = map { $_ => $texts->{$_} }
      grep { _is_string( $texts->{$_} ) and _trim( $texts->{$_} ) ne '' }
      keys %$texts;

    my @patterns;
    my $i = 0;
    for my $pattern ( _as_list( $data->{patterns} ) ) {
        my $checked = _check_pattern( $pattern, \%texts );
        if ( ref $checked ) {
            push @patterns, $checked;
        }
        else {
            _problem( $on_problem, $path, "patterns[$i] $checked; ignored" );
        }
        $i++;
    }

    my @classes;
    $i = 0;
    for my $class_entry ( _as_list( $data->{classes} ) ) {
        my $reason = ref $class_entry eq 'HASH' ? $class_entry->{reason} : undef;
        if (    _is_string($reason)
            and exists $texts{$reason}
            and _is_string( $class_entry->{characters} )
            and $class_entry->{characters} ne '' )
        {
            push @classes,
              { reason => $reason, characters => $class_entry->{characters} };
        }
        else {
            _problem( $on_problem, $path,
                qq{classes[$i] needs a known "reason" and "characters"; ignored} );
        }
        $i++;
    }

    return bless { texts => \%texts, patterns => \@patterns, classes => \@classes },
      $class;
}

# The checked pattern (a hash), or what is wrong with it (a string).
sub _check_pattern {
    my ( $pattern, $texts ) = @_;
    return 'is not an object' unless ref $pattern eq 'HASH';
    my $reason = $pattern->{reason};
    return 'names no reason with a text'
      unless _is_string($reason) and exists $texts->{$reason};

    my %checked = ( reason => $reason );
    if ( exists $pattern->{stage} ) {
        my $stage = $pattern->{stage};
        return 'has a "stage" other than bind or change'
          unless _is_string($stage) and grep { $_ eq $stage } @STAGES;
        $checked{stage} = $stage;
    }
    if ( exists $pattern->{result} ) {
        return 'has a "result" that is not a number'
          unless _is_int( $pattern->{result} );
        $checked{result} = 0 + $pattern->{result};
    }
    if ( exists $pattern->{ppolicy} ) {
        my $name = $pattern->{ppolicy};
        return 'names an unknown "ppolicy" error'
          unless _is_string($name) and grep { $_ eq $name } @PPOLICY_ERRORS;
        $checked{ppolicy} = $name;
    }
    if ( exists $pattern->{match} ) {
        my $regex = _is_string( $pattern->{match} )
          ? eval { qr/$pattern->{match}/ia }
          : undef;
        return 'has a "match" that is not a valid regular expression'
          unless $regex;
        $checked{match} = $regex;
    }
    return 'has no condition' if keys %checked == 1;

    return \%checked;
}

# What the person reads for a refusal: the texts of its reasons, one after another.
#   $record: {stage => 'bind'|'change', result => LDAP result code or undef,
#             diagnostic => slapd's text (bytes or characters), ppolicy => error name or undef}
#   $new_password: the refused password (bytes or characters)
sub message_for {
    my ( $self, $record, $new_password ) = @_;
    return join ' ',
      map { $self->{texts}{$_} } $self->reasons_for( $record, $new_password );
}

# The reason keys of a refusal: the first matching pattern's, with
# missing_classes replaced by the classes the new password lacks.
sub reasons_for {
    my ( $self, $record, $new_password ) = @_;
    $record ||= {};
    my $key = 'generic';
    for my $pattern ( @{ $self->{patterns} } ) {
        if ( _matches( $pattern, $record ) ) {
            $key = $pattern->{reason};
            last;
        }
    }

    if ( $key eq 'missing_classes' ) {

        # Byte-wise, as ppm counts (strchr over the class characters) and as
        # PHP's strpbrk does: "Đ" is two bytes, in no ASCII class.
        my $password = _bytes( $new_password // '' );
        my ( @missing, %seen );
        for my $class ( @{ $self->{classes} } ) {
            my $characters = _bytes( $class->{characters} );
            next if grep { index( $characters, $_ ) >= 0 } split //, $password;
            push @missing, $class->{reason} unless $seen{ $class->{reason} }++;
        }
        return @missing if @missing;
    }

    return ($key);
}

sub _matches {
    my ( $pattern, $record ) = @_;
    if ( exists $pattern->{stage} ) {
        return 0 unless defined $record->{stage} and $record->{stage} eq $pattern->{stage};
    }
    if ( exists $pattern->{result} ) {
        my $result = $record->{result};
        return 0
          unless defined $result
          and $result =~ /\A-?\d+\z/
          and $result == $pattern->{result};
    }
    if ( exists $pattern->{ppolicy} ) {
        return 0
          unless defined $record->{ppolicy} and $record->{ppolicy} eq $pattern->{ppolicy};
    }
    if ( exists $pattern->{match} ) {
        my $diagnostic = _characters( $record->{diagnostic} // '' );
        return 0 unless defined $diagnostic and $diagnostic =~ $pattern->{match};
    }
    return 1;
}

# A JSON string (PHP is_string): a defined, non-reference scalar decoded as a string.
sub _is_string {
    my ($value) = @_;
    return 0 unless defined $value and not ref $value;
    return B::svref_2object( \$value )->FLAGS & B::SVf_POK ? 1 : 0;
}

# A JSON integer (PHP is_int): decoded as a number, integral, not as a string.
sub _is_int {
    my ($value) = @_;
    return 0 unless defined $value and not ref $value;
    my $flags = B::svref_2object( \$value )->FLAGS;
    return 0 if $flags & B::SVf_POK;
    return 1 if $flags & B::SVf_IOK;
    return 0;
}

sub _as_list {
    my ($value) = @_;
    return () unless defined $value;
    return @$value if ref $value eq 'ARRAY';
    return map { $value->{$_} } sort keys %$value if ref $value eq 'HASH';
    return ($value);
}

# PHP's trim(): " \t\n\r\0\x0B".
sub _trim {
    my ($text) = @_;
    $text =~ s/\A[ \t\n\r\0\x0B]+|[ \t\n\r\0\x0B]+\z//g;
    return $text;
}

sub _bytes {
    my ($text) = @_;
    return utf8::is_utf8($text) ? Encode::encode( 'UTF-8', $text ) : $text;
}

# Characters from slapd's text (Net::LDAP hands over its UTF-8 bytes), or undef
# when they are not UTF-8.
sub _characters {
    my ($text) = @_;
    return $text if utf8::is_utf8($text);
    my $copy = $text;
    return eval { Encode::decode( 'UTF-8', $copy, Encode::FB_CROAK ) };
}

sub _problem {
    my ( $on_problem, $path, $what ) = @_;
    $on_problem->("soctrang: reasons file $path $what");
    return;
}

1;
